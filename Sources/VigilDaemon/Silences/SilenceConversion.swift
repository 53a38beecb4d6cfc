import Foundation
import VigilCore
import VigilMatchers
import VigilSilences
import VigilStore

/// Between the domain's ``Silence`` and the store's row.
enum SilenceConversion {
    struct StoredSilenceError: Error, CustomStringConvertible {
        var description: String
    }

    static func record(_ s: Silence, announced: SilenceState? = nil) -> SilenceRecord {
        SilenceRecord(id: s.idText, matchers: s.matchers.matchers.map {
            SilenceRecord.Matcher(name: $0.name, type: $0.type.rawValue, value: $0.value)
        }, startsAt: s.startsAt, endsAt: s.endsAt, updatedAt: s.updatedAt, createdBy: s.createdBy, comment: s.comment, announced: announced?.rawValue)
    }

    static func silence(_ r: SilenceRecord) throws -> Silence {
        guard let id = UUID(uuidString: r.id) else { throw StoredSilenceError(description: "id \(r.id) is not a UUID") }
        var matchers: [LabelMatcher] = []
        for m in r.matchers {
            guard let type = LabelMatcher.MatchType(rawValue: m.type) else {
                throw StoredSilenceError(description: "matcher type \(m.type)")
            }
            matchers.append(try LabelMatcher(name: m.name, type: type, value: m.value))
        }
        return Silence(id: id, matchers: LabelMatchers(matchers), startsAt: Timestamp(nanoseconds: r.startsAt),
                       endsAt: Timestamp(nanoseconds: r.endsAt), updatedAt: Timestamp(nanoseconds: r.updatedAt),
                       createdBy: r.createdBy, comment: r.comment)
    }
}
