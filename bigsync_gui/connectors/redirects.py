"""The default OAuth redirect URIs (Data Loader's recipe: a loopback port per service).

Apart from ``oauth`` so that reading the settings does not load the HTTP and OAuth libraries
(the tray shows before they are needed)."""

SALESFORCE_DEFAULT_REDIRECT_URI = "http://localhost:7171/OauthRedirect"
BIGTIME_DEFAULT_REDIRECT_URI = "http://localhost:7172/BigTimeRedirect"
