"""The screen-capture client: plays from pixels on the screen when the extension can't run."""
