"""Apache Airflow provider for Nano Banana image generation through ModelsLab and AceData Cloud.

Importing the package stays cheap: hooks, operators and the emulator are imported from their own
modules when a DAG or a test asks for them.
"""

__version__ = "0.1.0"
