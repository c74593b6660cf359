"""`leadsync demo`: the whole system on local Postgres and RabbitMQ with simulated Meta."""
