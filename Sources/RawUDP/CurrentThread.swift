import CRawUDP

/// The calling thread, as the kernel sees it.
public enum CurrentThread {
    /// Names it for top -H, ps -L and /proc/PID/task/TID/comm; the kernel keeps 15 bytes.
    public static func setName(_ name: String) throws(SystemCallError) {
        let result = CRawUDP_set_current_thread_name(name)
        // pthread functions return the error number instead of setting errno.
        if result != 0 { throw SystemCallError(call: "pthread_setname_np(\(name))", errno: result) }
    }
}
