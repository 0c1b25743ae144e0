extension PersonalDataVault {
    /// What is wrong with the key-encryption key of `generation` (the one `privacy.meta`
    /// names): its file in `keys/` is missing, destroyed or not 32 bytes. Nil when it holds a key.
    /// (A reader whose snapshot predates an erasure's rotation also finds its generation gone:
    /// compare with the generation a fresh snapshot names before calling that damage.)
    public func keyEncryptionKeyProblem(generation: UInt64) -> String? {
        do {
            _ = try kek.read(generation)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
