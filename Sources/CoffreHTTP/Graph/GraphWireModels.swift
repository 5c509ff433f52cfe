import CoffreCore
import CoffreDirectory

/// Microsoft Graph's JSON shapes (v1.0) for the directory objects Coffre has, as the Azure CLI reads them.
enum Graph {
    static let metadata = "https://graph.microsoft.com/v1.0/$metadata#"

    /// `{"@odata.context": …, "value": [...]}`.
    struct List<Item: Encodable>: Encodable {
        var context: String
        var value: [Item]

        enum CodingKeys: String, CodingKey {
            case context = "@odata.context"
            case value
        }

        init(context: String, value: [Item]) {
            self.context = Graph.metadata + context
            self.value = value
        }
    }

    struct User: Encodable {
        var context: String?
        var type: String?
        var id: String
        var userPrincipalName: String
        var displayName: String
        var accountEnabled = true
        var userType = "Member"
        var businessPhones: [String] = []

        enum CodingKeys: String, CodingKey {
            case context = "@odata.context"
            case type = "@odata.type"
            case id, userPrincipalName, displayName, accountEnabled, userType, businessPhones
        }

        /// `entity`: a single object's answer, which names its context.
        init(_ user: UserRecord, entity: Bool = false, typed: Bool = false) {
            context = entity ? Graph.metadata + "users/$entity" : nil
            type = typed ? "#microsoft.graph.user" : nil
            id = user.objectId
            userPrincipalName = user.userPrincipalName
            displayName = user.displayName
        }
    }

    struct ServicePrincipal: Encodable {
        var context: String?
        var type: String?
        var id: String
        var appId: String
        var displayName: String
        var servicePrincipalNames: [String]
        var servicePrincipalType: String
        var accountEnabled = true

        enum CodingKeys: String, CodingKey {
            case context = "@odata.context"
            case type = "@odata.type"
            case id, appId, displayName, servicePrincipalNames, servicePrincipalType,
                accountEnabled
        }

        init(_ principal: PrincipalRecord, entity: Bool = false, typed: Bool = false) {
            context = entity ? Graph.metadata + "servicePrincipals/$entity" : nil
            type = typed ? "#microsoft.graph.servicePrincipal" : nil
            id = principal.objectId
            appId = principal.clientId
            displayName = principal.displayName
            servicePrincipalNames = [principal.clientId]
            servicePrincipalType = principal.managedIdentity ? "ManagedIdentity" : "Application"
        }
    }

    struct Group: Encodable {
        var context: String?
        var type: String?
        var id: String
        var displayName: String
        var mailNickname: String
        var securityEnabled = true
        var mailEnabled = false

        enum CodingKeys: String, CodingKey {
            case context = "@odata.context"
            case type = "@odata.type"
            case id, displayName, mailNickname, securityEnabled, mailEnabled
        }

        init(_ group: GroupRecord, entity: Bool = false, typed: Bool = false) {
            context = entity ? Graph.metadata + "groups/$entity" : nil
            type = typed ? "#microsoft.graph.group" : nil
            id = group.objectId
            displayName = group.displayName
            mailNickname = group.displayName
        }
    }

    /// An item of `directoryObjects/getByIds`: the object with its `@odata.type`.
    enum DirectoryObject: Encodable {
        case user(User)
        case group(Group)
        case servicePrincipal(ServicePrincipal)

        init(_ object: DirectoryLookup.Object) {
            switch object {
            case .user(let user): self = .user(User(user, typed: true))
            case .group(let group): self = .group(Group(group, typed: true))
            case .servicePrincipal(let principal): self = .servicePrincipal(ServicePrincipal(principal, typed: true))
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .user(let user): try user.encode(to: encoder)
            case .group(let group): try group.encode(to: encoder)
            case .servicePrincipal(let principal): try principal.encode(to: encoder)
            }
        }
    }

    struct GetByIdsBody: Decodable {
        var ids: [String]
        var types: [String]?
    }
}
