/// "1 image", "2 images": a count with its noun in the right number
/// (`pluralForm` for nouns that do not just take an s).
public func plural(_ n: Int, _ noun: String, _ pluralForm: String? = nil) -> String {
    "\(n) \(n == 1 ? noun : pluralForm ?? noun + "s")"
}
