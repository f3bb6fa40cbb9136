// End-to-end suites start real controller, receiver and agent processes: a longer default than integration.
jest.setTimeout(180_000);
