"""The text corpus of the demo community ("Acme Cloud"): people, categories, question and answer templates.

Templates use ``string.Template`` placeholders (``$feature``), filled from the pools below, so code
blocks and JSON keep their braces. ``community.demo`` combines them with a seeded random generator.
"""

ADMIN = ("Morgan Ellis", "admin@example.com", "admin")
STAFF = [("Priya Raman", "moderator"), ("Tomás Herrera", "moderator"), ("Hannah Okafor", "marketer")]
MEMBERS = [
    "Liam Chen", "Sofia Rossi", "Noah Williams", "Amara Nwosu", "Lucas Moreau", "Yuki Tanaka", "Elena Petrova",
    "Mateo García", "Grace Kim", "Oliver Schmidt", "Aisha Rahman", "Ethan Brooks", "Chloé Dubois", "Ravi Patel",
    "Isabella Costa", "Jonas Lindqvist", "Fatima Zahra", "Daniel Murphy", "Mei Lin", "Samuel Adeyemi",
    "Zoe Anderson", "Arjun Mehta", "Camila Torres", "Felix Wagner", "Nora Hansen", "Kwame Mensah", "Leah Cohen",
    "Marco Bianchi", "Ingrid Berg", "Diego Fernández", "Hana Suzuki", "Owen Gallagher", "Lina Haddad",
    "Patrick O'Neill", "Vera Novak", "Emeka Obi",
]  # fmt: skip

ABOUTS = [
    "Platform engineer at a logistics start-up. We run most of our data pipelines on Acme Cloud.",
    "DevOps lead. I mostly hang around the **Integrations & API** category.",
    "Finance ops by day, accidental Acme admin by night.",
    "Building internal tools with the Python SDK. Happy to help with `acme` CLI questions.",
    "Customer since the beta. Ask me about SSO and SCIM provisioning.",
    "Full-stack developer; I write about webhooks and event-driven setups on my blog.",
    "Acme Community team. Here to make sure every question gets an answer.",
    "Data engineer, Terraform enthusiast, occasional tinkerer with Edge Functions.",
]

CATEGORIES = [
    ("billing", "Billing & Plans", "Invoices, payment methods, plan changes, usage limits and taxes.", True),
    ("getting-started", "Getting Started", "Your first workspace, inviting the team, projects and the basics.", False),
    ("integrations-api", "Integrations & API",
     "The REST API, SDKs, webhooks, the CLI and connections to Slack, GitHub, Okta and others.", False),
    ("troubleshooting", "Troubleshooting", "Errors, timeouts, failed deployments and anything that behaves oddly.", False),
]

POOLS = {
    "plan": ["Free", "Starter", "Team", "Business", "Enterprise"],
    "feature": ["Pipelines", "Dashboards", "Storage buckets", "Edge Functions", "Alerts", "the Audit log",
                "Scheduled jobs", "Workspaces", "Environments", "Secrets"],
    "integration": ["Slack", "GitHub", "GitLab", "Jira", "Salesforce", "Zapier", "PagerDuty", "Datadog",
                    "Microsoft Teams", "HubSpot"],
    "idp": ["Okta", "Azure AD", "Google Workspace", "OneLogin", "Keycloak"],
    "region": ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"],
    "status": ["401", "403", "409", "429", "500", "502", "504"],
    "lang": ["python", "javascript", "go", "ruby"],
    "sdk": ["Python SDK", "Node SDK", "Go SDK", "Ruby gem"],
    "version": ["2.3.1", "2.4.0", "2.5.2", "3.0.0", "3.1.4"],
    "browser": ["Chrome", "Firefox", "Safari", "Edge"],
    "os": ["macOS", "Windows 11", "Ubuntu 22.04", "Debian 12"],
    "seats": ["5", "12", "25", "40", "80", "150"],
    "currency": ["EUR", "GBP", "USD", "AUD", "CAD"],
    "country": ["Germany", "the UK", "France", "Spain", "Australia", "Canada", "the Netherlands"],
    "count": ["3", "4", "6", "10", "20"],
    "minutes": ["5", "15", "30", "45", "90"],
}

TRIED = [
    "Logged out and back in",
    "Tried a private window in $browser",
    "Cleared the cache of the `acme` CLI (`acme cache clear`)",
    "Checked the status page; everything was green",
    "Asked a colleague with the Admin role to try, same result",
    "Re-created the API token",
    "Read the docs page on $feature twice",
    "Upgraded the $sdk to $version",
    "Waited $minutes minutes and tried again",
]

CLOSINGS = [
    "Any idea what I am missing?", "Thanks in advance!", "Is this expected or a bug?",
    "Has anyone else run into this?", "Happy to share more details if that helps.",
    "Pointers to the right docs page are welcome too.", "We are on the $plan plan, if that matters.",
]

# Each question template: category slug, title variants, body (Markdown), base tags, fixes for answers.
QUESTIONS = [
    {"cat": "billing", "tags": ["billing", "invoices"],
     "titles": ["Invoice shows the old price after upgrading to $plan", "Why does my first $plan invoice show the old price?"],
     "body": "We moved from Starter to **$plan** on the 3rd, but this month's invoice still lists the old price "
             "for all $seats seats.\n\n| Line | Expected | Invoiced |\n|---|---|---|\n| $plan seats | $seats x new price "
             "| $seats x old price |\n| Proration | credit | none |\n",
     "fixes": ["Plan changes are prorated on the **next** invoice, not the current one. Look for a line called "
               "*Proration adjustment* next month.",
               "If the next invoice does not show the credit, open *Billing → Invoices*, choose the invoice and press "
               "**Request review**; finance answers within two business days."]},
    {"cat": "billing", "tags": ["billing", "payments"],
     "titles": ["Card payment declined although the card works elsewhere",
                "Payment in $currency keeps failing with 'card declined'"],
     "body": "Our renewal failed three times this week. The card works everywhere else and the bank sees no attempt.\n\n"
             "```\nPayment failed: card_declined (do_not_honor)\nAmount: 1,240.00 $currency\n```\n",
     "fixes": ["`do_not_honor` usually means the bank blocked a foreign merchant. Ask them to allow payments to "
               "*Acme Cloud Ltd*, then press **Retry payment** on the invoice.",
               "You can also switch to SEPA or ACH under *Billing → Payment methods*; those never hit 3-D Secure."]},
    {"cat": "billing", "tags": ["billing", "vat", "invoices"],
     "titles": ["How do I add our VAT number for $country?", "VAT charged even though we entered a VAT ID"],
     "body": "We are a business in $country and were charged VAT on the last invoice. I added the VAT ID in the "
             "profile afterwards.\n\n- Will past invoices be corrected?\n- Where exactly should the ID go?\n",
     "fixes": ["The VAT ID belongs under *Billing → Company details*, not in your personal profile. It applies from "
               "the next invoice on.",
               "For invoices that were already issued, contact billing with the invoice numbers; they issue a credit "
               "note for the VAT amount."]},
    {"cat": "billing", "tags": ["billing", "seats", "plans"],
     "titles": ["Are deactivated users still counted as seats on $plan?", "Seat count does not drop after removing $count users"],
     "body": "I removed $count people from our workspace last week, but *Billing → Usage* still shows $seats seats.\n\n"
             "Is there a delay, or do I have to do something else?\n",
     "fixes": ["Deactivated users stop counting at the **end of the billing period**, not immediately.",
               "Make sure you *removed* them rather than *suspended* them: suspended members keep their seat so they "
               "can be restored."]},
    {"cat": "billing", "tags": ["billing", "usage", "limits"],
     "titles": ["What happens when we exceed the $feature quota on $plan?", "Overage charges for $feature usage on $plan"],
     "body": "We are close to the monthly limit for **$feature** on the $plan plan. The pricing page is not clear "
             "about overage:\n\n1. Is the service throttled or billed?\n2. Can we set a hard cap?\n",
     "fixes": ["Usage above the quota is billed per unit at the rate on the pricing page; nothing is throttled.",
               "Admins can set a hard cap under *Billing → Usage limits*; at the cap new runs are queued instead of "
               "billed."]},
    {"cat": "billing", "tags": ["billing", "plans", "downgrade"],
     "titles": ["Downgrading from $plan: what happens to our data?", "Can we downgrade mid-cycle from $plan?"],
     "body": "Budget cuts, so we need to go down from **$plan**. Before I press the button:\n\n- Do we lose "
             "$feature history?\n- Is the difference refunded?\n",
     "fixes": ["Nothing is deleted on a downgrade; features above the new plan become read-only.",
               "Downgrades take effect at the end of the current period, so there is no partial refund."]},
    {"cat": "getting-started", "tags": ["onboarding", "workspaces"],
     "titles": ["Best way to structure workspaces for $count teams?", "One workspace or several for $count product teams?"],
     "body": "We are rolling Acme Cloud out to $count teams. Should every team get its own workspace, or one "
             "workspace with projects per team?\n\nWe care about separate billing and shared $feature.\n",
     "fixes": ["Use **one workspace** with a project per team; billing can be split with cost centres.",
               "Only separate workspaces when data must never be shared, for example for a regulated client."]},
    {"cat": "getting-started", "tags": ["onboarding", "invitations"],
     "titles": ["Invitation emails never arrive for some colleagues", "Team invites stuck on 'pending' after $minutes minutes"],
     "body": "I invited $count colleagues; half of them never got the email. Their status is still *pending*.\n\n"
             "They use Outlook on $os, if that matters.\n",
     "fixes": ["Corporate filters often quarantine invites. Ask IT to allow `invites@acme.example`.",
               "You can copy the invite link from *Members → Pending → ⋯ → Copy link* and send it yourself."]},
    {"cat": "getting-started", "tags": ["onboarding", "roles", "permissions"],
     "titles": ["Difference between Admin, Maintainer and Member roles", "Which role lets someone manage $feature but not billing?"],
     "body": "I want a colleague to manage **$feature** without seeing invoices. The role descriptions overlap:\n\n"
             "| Role | Billing | $feature |\n|---|---|---|\n| Admin | yes | yes |\n| Maintainer | ? | ? |\n| Member | no | read |\n",
     "fixes": ["**Maintainer** is what you want: full control over $feature and projects, no access to billing.",
               "Admins can also create a custom role on Business and Enterprise plans."]},
    {"cat": "getting-started", "tags": ["onboarding", "projects"],
     "titles": ["How do I move a project to another workspace?", "Transfer a project with its $feature to a new workspace"],
     "body": "We created our first project in a personal workspace by mistake. Can it be moved to the company "
             "workspace, including **$feature** and history?\n",
     "fixes": ["Open *Project settings → Transfer*; you need Admin in both workspaces.",
               "Secrets are not transferred for safety; re-enter them after the move."]},
    {"cat": "getting-started", "tags": ["onboarding", "cli"],
     "titles": ["Installing the acme CLI on $os", "acme CLI says 'command not found' after install on $os"],
     "body": "I followed the quick start on **$os**:\n\n```bash\ncurl -fsSL https://get.acme.example/cli | sh\n"
             "acme login\n```\n\nThe installer finished, but `acme` is not found in a new terminal.\n",
     "fixes": ["The installer puts the binary in `~/.acme/bin`; add it to your `PATH` in your shell profile.",
               "Package managers work too: `brew install acme/tap/acme` or `winget install Acme.CLI`."]},
    {"cat": "getting-started", "tags": ["onboarding", "sso", "security"],
     "titles": ["Setting up SSO with $idp on the $plan plan", "Is SSO with $idp available on $plan?"],
     "body": "Our security team wants everyone to sign in through **$idp**. Which plan do we need, and is SCIM "
             "provisioning included?\n",
     "fixes": ["SAML SSO comes with Business and up; SCIM provisioning needs Enterprise.",
               "In $idp, create a SAML app with the ACS URL from *Settings → Security → SSO*, then test with one "
               "user before enforcing it."]},
    {"cat": "integrations-api", "tags": ["api", "authentication"],
     "titles": ["REST API returns $status with a brand new token", "Getting HTTP $status from /v2/projects with a valid token"],
     "body": "Every call returns **$status**, even with a token I created a minute ago:\n\n```$lang\n$snippet\n```\n\n"
             "The same token works with the CLI.\n",
     "fixes": ["Tokens are scoped: make sure it has the `projects:read` scope, not just `user:read`.",
               "Send it as `Authorization: Bearer <token>`; the older `X-Acme-Token` header was removed in v2."]},
    {"cat": "integrations-api", "tags": ["api", "rate-limits"],
     "titles": ["What are the API rate limits on $plan?", "Hitting 429 Too Many Requests during a bulk import"],
     "body": "Our nightly import creates about ${seats}00 records and starts failing with **429** after a few minutes.\n\n"
             "```\nHTTP/1.1 429 Too Many Requests\nRetry-After: 30\n```\n\nWhat are the limits, and how should we batch?\n",
     "fixes": ["Limits are per token: 600 requests a minute on $plan. Honour `Retry-After` and back off.",
               "Use the bulk endpoint `POST /v2/records:batch` with up to 500 items per call instead."]},
    {"cat": "integrations-api", "tags": ["webhooks", "api"],
     "titles": ["Webhook signature verification always fails", "Verifying Acme webhook signatures in $lang"],
     "body": "I compute an HMAC of the body with our signing secret, but it never matches `Acme-Signature`.\n\n"
             "```$lang\n$snippet\n```\n",
     "fixes": ["Sign the **raw** request body, before any JSON parsing; re-serialised JSON changes the bytes.",
               "The header is `t=<timestamp>,v1=<hex>` and the signed string is `<timestamp>.<body>`."]},
    {"cat": "integrations-api", "tags": ["integrations", "notifications"],
     "titles": ["$integration notifications stopped after renaming a channel", "$integration integration posts nothing since last week"],
     "body": "Alerts from **$feature** used to show up in $integration. Since we renamed a channel nothing arrives, "
             "and the integration page still says *Connected*.\n",
     "fixes": ["Channel renames break the stored target. Edit the alert route and pick the channel again.",
               "If that does not help, disconnect and reconnect $integration; routes are kept."]},
    {"cat": "integrations-api", "tags": ["sdk", "api"],
     "titles": ["$sdk $version: timeout errors on large uploads", "Uploading files over 100 MB with the $sdk"],
     "body": "Uploads over about 100 MB fail with a timeout using the **$sdk** $version:\n\n```$lang\n$snippet\n```\n",
     "fixes": ["Use multipart uploads; the SDK does it when you pass `multipart=True` (or `partSize`).",
               "Raise the client timeout: the default of 60 s is too short for large files on slow links."]},
    {"cat": "integrations-api", "tags": ["terraform", "automation"],
     "titles": ["Terraform provider keeps recreating $feature on every plan", "Managing $feature with Terraform: perpetual diff"],
     "body": "Every `terraform plan` wants to replace our $feature resource although nothing changed:\n\n"
             "```hcl\nresource \"acme_project\" \"main\" {\n  name   = \"analytics\"\n  region = \"$region\"\n}\n```\n",
     "fixes": ["Region names are normalised to lower case by the API; write them in lower case to avoid the diff.",
               "Upgrade the provider: 3.1 fixed a diff on default values that the API fills in."]},
    {"cat": "troubleshooting", "tags": ["deployments", "errors"],
     "titles": ["Deployment stuck at 'Provisioning' in $region", "$feature deploys hang for $minutes minutes in $region"],
     "body": "Deployments in **$region** sit at *Provisioning* for ages, then fail. Other regions are fine.\n\n"
             "```\n[deploy] waiting for capacity in $region...\n[deploy] error: timed out after ${minutes}m\n```\n",
     "fixes": ["Check the status page for $region; capacity incidents are posted there.",
               "As a workaround, deploy to a second region and switch traffic back later."]},
    {"cat": "troubleshooting", "tags": ["errors", "gateway"],
     "titles": ["Intermittent $status errors from Edge Functions", "Edge Functions return $status under load"],
     "body": "About 2 % of requests fail with **$status** when traffic peaks.\n\n- Cold starts?\n- Memory?\n\n"
             "Logs only show `upstream connect error`.\n",
     "fixes": ["Cold starts: set a minimum of one warm instance in the function settings.",
               "Raise the memory size; CPU grows with memory and slow handlers trip the 10 s gateway limit."]},
    {"cat": "troubleshooting", "tags": ["dashboards", "browser"],
     "titles": ["Dashboards are blank in $browser", "Charts do not render on $browser on $os"],
     "body": "Since yesterday the dashboards load, but every chart is empty in **$browser** on $os. The browser "
             "console shows:\n\n```\nRefused to connect to 'wss://live.acme.example' (Content Security Policy)\n```\n",
     "fixes": ["An extension or proxy is blocking the live connection. Try a private window without extensions.",
               "Corporate proxies must allow WebSockets to `live.acme.example`."]},
    {"cat": "troubleshooting", "tags": ["pipelines", "errors"],
     "titles": ["Pipeline fails with 'secret not found' after rotating keys", "Scheduled jobs fail after rotating secrets"],
     "body": "After rotating our database password, every pipeline run fails:\n\n```\nError: secret DB_PASSWORD not "
             "found in environment 'production'\n```\n\nThe secret is clearly there in the UI.\n",
     "fixes": ["Secrets are scoped per environment: check that the new secret is in *production*, not *default*.",
               "Running pipelines keep the snapshot of secrets they started with; re-run rather than retry."]},
    {"cat": "troubleshooting", "tags": ["storage", "performance"],
     "titles": ["Storage bucket listing is very slow with many objects", "Listing a bucket with millions of objects times out"],
     "body": "Listing one of our buckets takes minutes and sometimes returns **$status**. It has a few million "
             "objects in a flat layout.\n",
     "fixes": ["Use prefixes and paginate with `continuation_token`; a full listing is never fast.",
               "For reporting, turn on the daily inventory export instead of listing."]},
    {"cat": "troubleshooting", "tags": ["alerts", "notifications"],
     "titles": ["Alerts fire twice for every incident", "Duplicate alert notifications via $integration"],
     "body": "Every incident produces two identical notifications in **$integration**, $minutes minutes apart.\n\n"
             "Our alert rule evaluates every 5 minutes with a 10 minute window.\n",
     "fixes": ["Overlapping windows re-trigger: set the window equal to the evaluation interval.",
               "Turn on *group notifications* in the route so repeats within an hour are merged."]},
]

SNIPPETS = {
    "python": 'import acme\n\nclient = acme.Client(token=os.environ["ACME_TOKEN"])\nprint(client.projects.list())',
    "javascript": 'const res = await fetch("https://api.acme.example/v2/projects", {\n'
                  '  headers: { Authorization: `Bearer ${process.env.ACME_TOKEN}` },\n});\nconsole.log(res.status);',
    "go": 'req, _ := http.NewRequest("GET", "https://api.acme.example/v2/projects", nil)\n'
          'req.Header.Set("Authorization", "Bearer "+os.Getenv("ACME_TOKEN"))',
    "ruby": 'client = Acme::Client.new(token: ENV.fetch("ACME_TOKEN"))\nputs client.projects.list.inspect',
}

ANSWER_OPENERS = [
    "We had exactly this last quarter.", "Short answer: yes, and it is easy to miss.", "This one bit us too.",
    "From the support side, this is a common one.", "Two things to check.", "I can confirm what you are seeing.",
    "This is documented, but not where you would look.",
]
ANSWER_CLOSERS = [
    "Hope that helps!", "Let us know if it still happens.", "That fixed it for us within minutes.",
    "If not, open a ticket and mention this thread.", "", "",
]
ANSWER_CODE = [
    "```bash\nacme doctor --verbose\n```", "```bash\nacme projects list --region $region\n```",
    "```json\n{\n  \"retry\": {\"max_attempts\": 5, \"backoff\": \"exponential\"}\n}\n```",
]

QUESTION_COMMENTS = [
    "Which plan are you on? Some of this differs between Team and Business.",
    "Can you share the request ID from the response headers?", "Does it happen in every project or just one?",
    "Same here since Monday, following this thread.", "Did this start after the last CLI update?",
    "Which region is your workspace in?", "Could you post the full error message, with tokens removed?",
]
ANSWER_COMMENTS = [
    "This worked for me, thanks!", "Note that you need the Admin role for the second step.",
    "Confirmed, the docs page was updated last week too.", "Is there a way to do this from the CLI as well?",
    "Exactly what I needed, thank you for the details.", "Worth adding that it can take a few minutes to apply.",
    "On the $plan plan the menu is called Settings → Advanced.",
]
# appended when a title is already taken, so every demo title is unique and still reads naturally
TITLE_SUFFIXES = [" on the $plan plan", " in $region", " with the $sdk $version", " on $os", " ($plan plan)",
                  " since last week", " for a $seats-seat team", " in $browser"]
EDIT_REASONS = ["Added the error message", "Fixed a typo", "Clarified the plan we are on", "Formatting"]
# the marketer's one manual badge, given to the member with the most accepted answers
MANUAL_BADGE = {
    "name": "Customer Hero",
    "tier": "silver",
    "description": "Chosen by the Acme Cloud community team for helping more customers than anyone this season.",
    "reason": "Most accepted answers in the community over the last six months. Thank you!",
}
