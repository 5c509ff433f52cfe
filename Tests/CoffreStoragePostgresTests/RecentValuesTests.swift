import Testing

@testable import CoffreStoragePostgres

struct RecentValuesTests {
    @Test func remembersValuesAndAbsences() {
        let recent = RecentValues()
        #expect(recent.value(at: "a") == nil)
        recent.remember(["a": [1], "b": nil])
        #expect(recent.value(at: "a") == .some([1]))
        #expect(recent.value(at: "b") == .some(nil))
        recent.remember(["a": [2]])
        #expect(recent.value(at: "a") == .some([2]))
        recent.forget(["a", "b"])
        #expect(recent.value(at: "a") == nil)
        #expect(recent.value(at: "b") == nil)
    }

    @Test func forgetsValuesTooLargeToKeep() {
        let recent = RecentValues()
        recent.remember(["big": [1]])
        recent.remember(["big": [UInt8](repeating: 0, count: RecentValues.largestValue + 1)])
        #expect(recent.value(at: "big") == nil)
    }

    /// Older entries go once two generations' worth of newer ones came after them; the newest stay.
    @Test func staysWithinItsBudget() {
        let recent = RecentValues(budget: 64 * 1024)
        let value = [UInt8](repeating: 7, count: 1000)
        for index in 0..<1000 { recent.remember(["key\(index)": value]) }
        let kept = (0..<1000).filter { recent.value(at: "key\($0)") != nil }
        #expect(kept.count < 64)
        #expect(kept.contains(999))
        #expect(!kept.contains(0))
    }
}
