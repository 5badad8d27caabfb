"""The booth daemon: session state machine, config, local store, UI server."""
