import sys


def read_lines(path):
    with open(path) as f:
        for line in f:
            yield line.rstrip("\n")


lines = longest = characters = 0
for line in read_lines(sys.argv[1]):
    lines += 1
    characters += len(line)
    longest = max(longest, len(line))
print(f"lines: {lines}, characters: {characters}, longest: {longest}")
