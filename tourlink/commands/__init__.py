"""Command groups of the `tourlink` CLI; each module exposes `register(app: typer.Typer)`."""
