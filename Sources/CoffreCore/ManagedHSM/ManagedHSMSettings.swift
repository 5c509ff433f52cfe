import CoffreModel
import CoffreStorage

/// A pool setting as the settings API shows it: a name, a type and the value as a string.
public struct ManagedHSMSetting: Sendable, Equatable {
    public enum SettingType: String, Sendable {
        /// Values are the strings `true` and `false` (the SDKs send and expect them lower-case).
        case boolean
    }

    public var name: String
    public var type: SettingType
    public var value: String

    public init(name: String, type: SettingType, value: String) {
        self.name = name
        self.type = type
        self.value = value
    }

    /// The settings Azure documents for Managed HSM, with their defaults. `AllowKeyManagementOperationsThroughARM`
    /// ("Allow key management operations through Azure Resource Manager", off by default) is the only one the service,
    /// its documentation and its SDKs name.
    public static let known: [ManagedHSMSetting] = [
        ManagedHSMSetting(name: "AllowKeyManagementOperationsThroughARM", type: .boolean, value: "false")
    ]

    /// The known setting `name` (compared case-insensitively).
    static func known(_ name: String) throws -> ManagedHSMSetting {
        guard let setting = known.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw ManagedHSMError.settingNotFound(name)
        }
        return setting
    }

    /// `value` in the setting's canonical spelling, or `badParameter`.
    func validated(_ value: String) throws -> String {
        switch type {
        case .boolean:
            guard let value = ["true", "false"].first(where: { $0 == value.lowercased() }) else {
                throw CoffreError.badParameter("The value of \(name) must be 'true' or 'false', not '\(value)'.")
            }
            return value
        }
    }
}

/// A pool's settings: the values that differ from the defaults, in one record (`sys/hsm/{pool}/settings`).
public struct ManagedHSMSettings: Sendable {
    let storage: any StorageBackend

    public init(storage: any StorageBackend) {
        self.storage = storage
    }

    public func list(in pool: ManagedHSMName) async throws -> [ManagedHSMSetting] {
        let values = try await storage.read([String: String].self, at: ManagedHSMPaths.settings(pool)) ?? [:]
        return ManagedHSMSetting.known.map { setting in
            var setting = setting
            setting.value = values[setting.name] ?? setting.value
            return setting
        }
    }

    public func get(_ name: String, in pool: ManagedHSMName) async throws -> ManagedHSMSetting {
        let wanted = try ManagedHSMSetting.known(name)
        guard let setting = try await list(in: pool).first(where: { $0.name == wanted.name }) else { throw ManagedHSMError.settingNotFound(name) }
        return setting
    }

    /// Sets `name` to `value` (checked against the setting's type) in one transaction.
    public func update(_ name: String, value: String, in pool: ManagedHSMName) async throws -> ManagedHSMSetting {
        var setting = try ManagedHSMSetting.known(name)
        setting.value = try setting.validated(value)
        try await storage.transaction { [setting] transaction in
            try await ManagedHSMAccessControl.requirePool(pool, in: transaction)
            var values = try await transaction.read([String: String].self, at: ManagedHSMPaths.settings(pool)) ?? [:]
            values[setting.name] = setting.value
            try await transaction.write(values, at: ManagedHSMPaths.settings(pool))
        }
        return setting
    }
}
