package checks

// registry is every check, in the order of docs/checks.md. A check is one
// Check value next to its Run function; adding one is that value, its test,
// a line here and a regenerated docs/checks.md.
var registry = []*Check{
	&axfrAllowedCheck,
	&ixfrAllowedCheck,
	&nsecWalkableCheck,
	&nsec3EnumerableCheck,
	&wildcardCheck,
	&privateAddressLeakCheck,
	&internalNameLeakCheck,
	&openResolverCheck,
	&versionDisclosureCheck,
	&hostnameDisclosureCheck,
	&danglingCNAMECheck,
	&historicDanglingCheck,
	&lameDelegationCheck,
	&danglingNSCheck,
	&soaSerialMismatchCheck,
	&nsSetMismatchCheck,
	&dnssecMissingCheck,
	&dnssecInvalidCheck,
	&spfMissingCheck,
	&spfPermissiveCheck,
	&dmarcMissingCheck,
	&dmarcWeakCheck,
	&saasVerificationTokensCheck,
	&adSRVExposedCheck,
	&singleNameserverCheck,
	&nameserverDiversityCheck,
}
