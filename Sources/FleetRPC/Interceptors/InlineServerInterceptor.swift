/// An interceptor that also has a synchronous form, for calls answered without a task
/// (`RPCRouter.unary(_:inline:_:)`): `admit` runs before the handler on the grpc thread that
/// received the request (throw to reject the call), `completed` once the call is answered.
/// Inline calls see no task-local values (such as `CallPrincipal`) that `intercept` binds.
public protocol InlineServerInterceptor: ServerInterceptor {
    func admit(context: ServerContext) throws
    func completed(context: ServerContext, error: (any Error)?, duration: Duration)
}
