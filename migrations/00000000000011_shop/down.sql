DROP FUNCTION privacy_purge_invoices(TIMESTAMPTZ, INTEGER);
DROP TABLE invoices;
DROP FUNCTION invoices_immutable();
DROP TABLE invoice_sequences;
DROP TABLE refunds;
DROP TABLE payment_events;
DROP TABLE payments;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE vouchers;
DROP TABLE product_prices;
DROP TABLE products;
DROP TABLE registration_answers;
DROP TABLE registration_forms;
DROP TABLE consent_texts;
ALTER TABLE organizations
    DROP COLUMN legal_name, DROP COLUMN address_line1, DROP COLUMN address_line2,
    DROP COLUMN postal_code, DROP COLUMN city, DROP COLUMN country, DROP COLUMN siren,
    DROP COLUMN siret, DROP COLUMN vat_number, DROP COLUMN legal_mentions,
    DROP COLUMN payment_days, DROP COLUMN late_penalty;
