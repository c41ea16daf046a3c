"""The sandbox's demo credentials: printed by `bigsync-gui sandbox`, shown on its login pages.

They open nothing but the local emulators, so they are not secrets.
"""

SF_USERNAME = "admin@acme-demo.example"
SF_PASSWORD = "sandbox-demo"
SF_CONSUMER_KEY = "3MVG9bigsyncSandboxConsumerKey"
# Salesforce matches redirect URIs exactly; these are the "callback URLs" registered in the
# sandbox's External Client App. The first is the app's default (Data Loader's recipe).
SF_REDIRECT_URIS = ("http://localhost:7171/OauthRedirect", "http://127.0.0.1:7171/OauthRedirect")
SF_ORG_NAME = "Acme Consulting (sandbox)"

BT_USERNAME = "admin@acme-demo.example"
BT_PASSWORD = "sandbox-demo"
BT_CLIENT_ID = "bigsync-sandbox-client"
BT_CLIENT_SECRET = "sandbox-client-secret"
BT_REDIRECT_URIS = ("http://localhost:7172/BigTimeRedirect", "http://127.0.0.1:7172/BigTimeRedirect")
BT_API_KEY = "sandbox-api-key-0123456789"
BT_FIRM_ID = "acme-sbx-0001"
BT_FIRM_NAME = "Acme Consulting"
