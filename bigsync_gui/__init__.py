"""bigsync-gui: Salesforce opportunities → BigTime projects, and delivery figures back."""

__version__ = "0.1.0"
APP_NAME = "bigsync-gui"
