"""minigrad's built-in plugins (installed as ``minigrad_plugins``): cells and tasks,
registered through the same entry points as any third-party plugin."""
