import Testing

@Suite struct WeftIdentityTestsPlaceholder { @Test func nothing() {} }
