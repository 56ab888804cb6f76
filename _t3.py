import asyncio, time
from runtime._interrupt import interruptible, interruptible_await
from runtime._errors import BodyTimeout, NodeError
import runtime._interrupt as I

def spin():
    while True: pass
def swallow():
    n=0
    while True:
        try:
            while True: pass
        except BaseException:
            n+=1
            if n>1000: return n
def sleeper(): time.sleep(5)
def timed(fn, t, name="f"):
    t0=time.monotonic()
    try:
        with interruptible(t, name=name):
            return fn()
    except NodeError as e: print(" ", type(e).__name__, e, round(time.monotonic()-t0,3))

timed(spin, 0.2, "function")
timed(swallow, 0.1)
timed(sleeper, 0.1)
def outer_earlier():
    try:
        with interruptible(5, name="inner"): spin()
    except NodeError as e: print("inner caught?!", e)
timed(outer_earlier, 0.1, "outer")
def inner_earlier():
    timed(spin, 0.1, "inner"); spin()
timed(inner_earlier, 0.3, "outer")
print(I._armed, I._running)
with interruptible(0.5): x=sum(range(1000))
print("done", I._armed)

async def body():
    await asyncio.sleep(0.01)
    while True: pass
async def body2():
    await asyncio.sleep(10)
async def body3():
    await asyncio.sleep(0.01); return 7
async def main():
    for b in (body, body2):
        t=time.monotonic()
        try: await interruptible_await(b(), 0.2, name="function")
        except BodyTimeout as e: print("async", e, round(time.monotonic()-t,3))
    print(await interruptible_await(body3(), 0.2), await interruptible_await(body3()))
    print(I._armed, I._running)
asyncio.run(main())
