DROP SCHEMA notifications CASCADE;
