"""Azure OpenAI: the openai SDK's Azure client (deployment in the path, `api-version`, `api-key` header)."""

from __future__ import annotations

import openai
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from providers import http_provider, sdk_client
from providers.config import ConfigError, ProviderOptions, load_settings, read_account
from providers.openai import OPTIONS, dialect, provider

# Azure's Chat Completions (the API version decides which are there; an older one answers 400 itself); no
# web search, prompt caching keys or service tiers.
PASSTHROUGH = frozenset(
    {"logit_bias", "max_completion_tokens", "metadata", "prediction", "reasoning_effort", "store"}
)
DIALECT = dialect("azure", supports=OPTIONS | PASSTHROUGH)


class AzureSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AZURE_OPENAI_", extra="ignore", env_ignore_empty=True)

    deployment: str | None = None
    api_version: str = Field("2024-10-21", validation_alias="OPENAI_API_VERSION")


def create(options: ProviderOptions) -> http_provider.HttpProvider:
    settings = load_settings(AzureSettings, options.env_file)
    account = read_account(options, ("AZURE_OPENAI_API_KEY",), "AZURE_OPENAI_ENDPOINT")
    if not account.api_key:
        raise ConfigError(account.key_variable, "not set; the azure provider needs it")
    if not account.base_url:  # https://<resource>.openai.azure.com
        raise ConfigError(
            options.base_url_env or "AZURE_OPENAI_ENDPOINT", "not set; the azure provider needs it"
        )
    deployment = settings.deployment or options.model
    if not deployment:
        raise ConfigError("AZURE_OPENAI_DEPLOYMENT", "not set; name the deployment to call")
    # A static key: the headers the SDK builds once stay valid (an Entra ID token provider would not).
    client = openai.AsyncAzureOpenAI(
        api_key=account.api_key,
        azure_endpoint=account.base_url,
        azure_deployment=deployment,
        api_version=settings.api_version,
        max_retries=0,
        timeout=sdk_client.timeout(options),
    )
    return provider(client, DIALECT, options, deployment, account)
