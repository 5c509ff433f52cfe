/// The kinds of versioned objects a vault holds.
public enum ObjectKind: String, Sendable, Codable, CaseIterable {
    case secret
    case key
    case certificate

    /// Lower-case noun used in messages ("secret").
    public var noun: String { rawValue }
    /// Capitalised noun used in messages and error codes ("Secret").
    public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
    /// The path segment of live objects (`secrets`).
    public var collection: String { rawValue + "s" }
    /// The path segment of soft-deleted objects (`deletedsecrets`).
    public var deletedCollection: String { "deleted" + collection }
}
