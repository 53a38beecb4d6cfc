import FuzzSupport
import VigilPluginProtocol

/// The first byte picks the frame limit and how the stream is cut into reads; the rest is the
/// stream. Whatever the cuts, the decoder must give the same frames and the same first error as
/// when the stream arrives whole, and each frame must be exactly the bytes its header announced.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())
    let limit = 1 + Int(first & 0x3F) * 16
    let whole = decode(stream, limit: limit, cuts: nil)
    let cut = decode(stream, limit: limit, cuts: SplitMix(seed: UInt64(first)))
    invariant(whole == cut, "cutting the stream changed the frames: \(whole) vs \(cut)")

    // The reference: walk the headers by hand.
    var offset = 0
    var number = 0
    for outcome in whole {
        number += 1
        let length = offset + 4 <= stream.count ? stream[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } : -1
        switch outcome {
        case .frame(let payload, let n):
            invariant(n == number, "frame numbered \(n), expected \(number)")
            invariant(length > 0 && length <= limit, "frame of \(length) bytes passed a limit of \(limit)")
            invariant(payload == Array(stream[offset + 4..<offset + 4 + length]), "payload differs from the stream")
            invariant(Frame.encode(payload) == Array(stream[offset..<offset + 4 + length]), "re-encoding differs")
            offset += 4 + length
        case .error(let e):
            invariant(e.frame == number, "error names frame \(e.frame), expected \(number)")
            invariant(length == 0 || length > limit, "refused a frame of \(length) bytes within \(limit): \(e)")
        case .rest(let buffered):
            invariant(buffered == stream.count - offset, "\(buffered) bytes buffered, \(stream.count - offset) left")
            invariant(buffered < 4 || length + 4 > buffered,
                      "a complete frame was left in the buffer")
            number -= 1
        }
    }
    return 0
}

enum Outcome: Equatable {
    case frame([UInt8], Int)
    case error(ProtocolError)
    case rest(Int)
}

/// Frames of `stream` delivered whole or in pseudo-random reads, until the first error.
func decode(_ stream: [UInt8], limit: Int, cuts: SplitMix?) -> [Outcome] {
    var decoder = FrameDecoder(maximumFrameBytes: limit, initialCapacity: 16)
    var out: [Outcome] = []
    var rng = cuts
    var at = 0
    while at < stream.count {
        let n = rng.map { r -> Int in var r = r; defer { rng = r }; return Int(r.next() % 8) + 1 } ?? stream.count
        let end = min(stream.count, at + n)
        decoder.append(Array(stream[at..<end]))
        at = end
        do {
            while let f = try decoder.nextFrame() { out.append(.frame(f.payload, f.number)) }
        } catch {
            out.append(.error(error))
            return out
        }
    }
    out.append(.rest(decoder.bufferedByteCount))
    return out
}
