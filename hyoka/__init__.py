"""hyoka: a static site generator for 事務事業評価シート."""
