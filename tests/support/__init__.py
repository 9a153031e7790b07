"""What the tests share: deliveries written the way the source systems write them, the pipeline run
on them, its published file read back, and the `pipeline` command called as cron calls it."""
