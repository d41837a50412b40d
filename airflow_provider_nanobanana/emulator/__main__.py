"""``python -m airflow_provider_nanobanana.emulator`` runs the same CLI as ``nanobanana-emulator``."""

from airflow_provider_nanobanana.emulator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
