"""The stewards' web view (issue 7): `tourlink.web.app.create_app`, served by `tourlink web`."""
