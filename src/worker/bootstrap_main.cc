// bootstrap: the Lambda custom runtime (placeholder until the worker lands).
int main() { return 1; }
