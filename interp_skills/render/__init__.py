"""Renderers: one technique, four faces (skill folder, MCP tools, notebook, prompt text)."""
