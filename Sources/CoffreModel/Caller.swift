/// The authenticated principal behind a request, as read from its verified token.
public struct Caller: Sendable, Equatable {
    public var objectId: String
    public var appId: String?
    public var tenantId: String
    public var issuer: String
    /// The caller's network address, for the audit log.
    public var address: String?
    /// The object ids of the groups the token's `groups` claim names (see `GroupExpansion` for which count).
    public var groups: [String]

    public init(objectId: String, appId: String?, tenantId: String, issuer: String, address: String? = nil, groups: [String] = []) {
        self.objectId = objectId
        self.appId = appId
        self.tenantId = tenantId
        self.issuer = issuer
        self.address = address
        self.groups = groups
    }
}
