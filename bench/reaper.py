# Runs a command as a child subreaper that reaps every orphan. Where PID 1
# does not reap (containers), a killed daemon started with `setsid -f` would
# stay a zombie, and Monit's process pattern would keep matching it.
import ctypes, os, signal, sys

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        continue
