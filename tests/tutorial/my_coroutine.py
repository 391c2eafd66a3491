import asyncio


async def my_coroutine():
    print("Start Coroutine")
    await asyncio.sleep(1)
    print("End Coroutine")


asyncio.run(my_coroutine())
