import time
from runtime._interrupt import interruptible
from runtime._errors import BodyTimeout
import runtime._interrupt as I
def f():
    n=0
    try:
        with interruptible(0.1, name="f"):
            while True:
                try:
                    while True: pass
                except BaseException as e:
                    n+=1
                    if n>5: break
    except BodyTimeout as e: print("swallow ok", n, e)
    print("end", n, I._armed, I._running)
f()
