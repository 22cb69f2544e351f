"""Azure OpenAI: the openai SDK's Azure client (deployment in the path, `api-version`, `api-key` header)."""

from __future__ import annotations

import httpx2
import openai
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from providers.base import ConfigError, ProviderOptions, load_settings
from providers.openai import OpenAIProvider


class AzureSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AZURE_OPENAI_", extra="ignore", env_ignore_empty=True)

    api_key: SecretStr | None = None
    endpoint: str | None = None  # https://<resource>.openai.azure.com
    deployment: str | None = None
    api_version: str = Field("2024-10-21", validation_alias="OPENAI_API_VERSION")


def create(options: ProviderOptions) -> OpenAIProvider:
    settings = load_settings(AzureSettings, options.env_file)
    for variable, value in (
        ("AZURE_OPENAI_API_KEY", settings.api_key),
        ("AZURE_OPENAI_ENDPOINT", settings.endpoint),
    ):
        if not value:
            raise ConfigError(variable, "not set; the azure provider needs it")
    deployment = settings.deployment or options.model
    if not deployment:
        raise ConfigError("AZURE_OPENAI_DEPLOYMENT", "not set; name the deployment to call")
    assert settings.api_key is not None and settings.endpoint is not None
    client = openai.AsyncAzureOpenAI(
        api_key=settings.api_key.get_secret_value(),
        azure_endpoint=settings.endpoint,
        azure_deployment=deployment,
        api_version=settings.api_version,
        max_retries=0,  # retries belong to the gateway
        timeout=httpx2.Timeout(options.read_timeout, connect=options.connect_timeout),
    )
    return OpenAIProvider(client, deployment, name="azure", key_variable="AZURE_OPENAI_API_KEY")
