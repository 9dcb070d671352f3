-- A mobile prefix of another country's calling code would mark that country's numbers mobile.
select country, calling_code, prefix
from {{ ref('mobile_phone_prefixes') }}
where not starts_with(prefix, calling_code) or not regexp_full_match(prefix, '[1-9][0-9]*')
