"""Node families shipped with flowwire, one package each (core, mqtt, openai)."""
