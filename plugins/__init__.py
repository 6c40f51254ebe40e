"""minigrad's built-in plugins (installed as ``minigrad_plugins``): cells and tasks,
registered directly by the plugin host (``minigrad/plugins.py``, ``BUILTIN_PLUGINS``)
through the same hooks as any third-party plugin."""
