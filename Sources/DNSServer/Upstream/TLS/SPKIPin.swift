#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A SHA-256 digest of a certificate's SubjectPublicKeyInfo (RFC 7858 4.2,
/// RFC 7469's `pin-sha256`), written `sha256/BASE64`. A connection passes
/// when any certificate of its verified chain has a pinned key, so a backup
/// pin or the CA's key can be listed beside the server's.
public struct SPKIPin: Hashable, Sendable, CustomStringConvertible {
    public let digest: [UInt8]

    public init?(_ text: String) {
        guard text.hasPrefix("sha256/"), let data = Data(base64Encoded: String(text.dropFirst(7))),
              data.count == 32 else { return nil }
        digest = Array(data)
    }

    init(digest: [UInt8]) { self.digest = digest }

    public var description: String { "sha256/" + Data(digest).base64EncodedString() }
}
