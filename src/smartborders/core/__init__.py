"""Cross-cutting pieces every system uses: clock, settings, errors, logging, database."""
