"""Server-side tools for a profile's widget: MCP servers the operator names, and the model → tool → model
loop the gateway runs itself (`ToolLoop`, a `Provider` around the profile's provider)."""
