/// Who is making the current call: the name of the bearer token the auth interceptor
/// accepted, visible to the handler it runs (a task-local value). nil without auth.
public enum CallPrincipal {
    @TaskLocal public static var name: String?

    /// The name for audit records: the token's name, else "anonymous".
    public static var auditName: String { name ?? "anonymous" }
}
