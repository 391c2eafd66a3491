import asyncio


async def task_example():
    await asyncio.sleep(2)
    print("Task Completed")


async def main():
    task = asyncio.create_task(task_example())
    await task


asyncio.run(main())
