"""The dev kit: vendor emulators (`sandbox`), onboarding a new vendor (`onboarding`), the conformance
kit every connector passes (`conformance`) and the demo (`demo`). Production code never imports it;
its commands reach the `tourlink` CLI through the `tourlink.cli` entry-point group (`devkit.cli`)."""
