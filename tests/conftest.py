# Fixtures live in tests/fixtures/, one module per area, so that each can be owned separately.
pytest_plugins = ["fixtures.data", "fixtures.models", "fixtures.broker", "fixtures.browser", "fixtures.postgres"]
