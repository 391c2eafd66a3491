gen = (x * 2 for x in range(5))
print(list(gen))
