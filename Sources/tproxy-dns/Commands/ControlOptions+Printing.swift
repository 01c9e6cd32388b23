import DNSServer

extension ControlOptions {
    /// Sends `request` and prints the part of the reply at `field`: one JSON line under
    /// --json, else `text` (ending in a newline). Replies without that part (progress
    /// lines before the final one) print nothing.
    func exchange<Part: Encodable>(_ request: ControlRequest, printing field: KeyPath<ControlReply, Part?>,
                                   text: (Part) -> String) throws {
        try exchange(request) { reply in
            guard let part = reply[keyPath: field] else { return }
            print(json ? Self.jsonLine(part) : text(part), terminator: json ? "\n" : "")
        }
    }

    /// One reply part as the single JSON line --json prints, without its newline.
    static func jsonLine(_ value: some Encodable) -> String {
        String(decoding: ControlCodec.line(value).dropLast(), as: UTF8.self)
    }
}
