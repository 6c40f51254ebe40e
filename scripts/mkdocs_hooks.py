"""MkDocs hooks for the site (mkdocs.yml, ``hooks:``): KaTeX's files join the site's own.

``mkdocs build`` and ``mkdocs serve`` then both carry KaTeX under katex/, where mkdocs.yml's
extra_javascript and extra_css find it, with no step before the build and nothing fetched by
the reader's browser. scripts/katex.py fetches and checks the package (once, into build/katex/).
"""

from __future__ import annotations

import katex  # scripts/katex.py: MkDocs puts a hook's own folder on the import path while loading it
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add KaTeX's script, style sheet, fonts and licence to the files MkDocs writes."""
    try:
        contents = katex.site_files()
    except katex.KatexError as error:
        raise PluginError(str(error)) from None  # MkDocs prints it as one line and stops
    for path, content in contents.items():
        files.append(File.generated(config, path, content=content))
    return files
