from tests.web.conftest import browser, web_view  # noqa: F401 - the web view and Chromium, shared
