"""Every sentence a citizen (or staff member) reads, in one place, in polite Vietnamese.

Texts are light Markdown; channels render them. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

# --- greeting, help, menu -------------------------------------------------------------------------
START = (
    "Xin chào! Mình là **Trợ lý số** của {ward}.\n\n"
    "Mình có thể giải đáp nhanh các câu hỏi thường gặp về thủ tục hành chính và dịch vụ công. "
    "Bạn cứ gõ câu hỏi bằng lời của mình (có dấu hay không dấu đều được), "
    "hoặc chọn một chủ đề dưới đây."
)
HELP = (
    "**Cách dùng Trợ lý số**\n"
    "- Gõ câu hỏi bằng tiếng Việt, ví dụ: «Cách cài đặt VNeID?»\n"
    "- /menu: xem các chủ đề và câu hỏi thường gặp\n"
    "- /dangky: nhận thông báo của phường/xã; /huydangky: ngừng nhận\n"
    "- /xoadulieu: xóa dữ liệu mà Trợ lý số đang lưu về bạn\n"
    "- Khi có nút bấm, bạn cũng có thể gõ số thứ tự (1, 2, 3…) để chọn.\n\n"
    "Cần hỗ trợ trực tiếp, bạn liên hệ: {contact}."
)
MENU_TOPICS = "Mời bạn chọn một chủ đề:"
MENU_QUESTIONS = "**{title}**\nMời bạn chọn câu hỏi:"
MENU_PAGE = "(trang {page}/{pages})"
NO_TOPICS = "Hiện Trợ lý số chưa có chủ đề nào. Bạn vui lòng quay lại sau nhé."
BUTTON_TOPICS = "📋 Xem các chủ đề"
BUTTON_BACK = "« Quay lại"
BUTTON_PREV = "‹ Trang trước"
BUTTON_NEXT = "Trang sau ›"

# --- answers ----------------------------------------------------------------------------------------
SOURCE = "Nguồn: [{label}]({url})"
FEEDBACK_QUESTION = "Câu trả lời này có giúp ích cho bạn không?"
RELATED_HINT = "Bạn cũng có thể xem các câu hỏi liên quan bên dưới."
BUTTON_HELPFUL = "👍 Hữu ích"
BUTTON_NOT_HELPFUL = "👎 Chưa hữu ích"
SUGGEST = "Mình chưa chắc đã hiểu đúng ý bạn. Có phải bạn muốn hỏi một trong những câu sau không?"
DECLINE = (
    "Xin lỗi, hiện mình chưa có câu trả lời cho câu hỏi này. "
    "Câu hỏi của bạn đã được ghi lại để cán bộ bổ sung.\n\n"
    "Bạn có thể liên hệ trực tiếp: {contact}."
)
DECLINE_TOPICS = "Bạn cũng có thể xem các chủ đề gần với câu hỏi của mình dưới đây."

# --- feedback ---------------------------------------------------------------------------------------
THANKS_FOR_VOTE = "Cảm ơn bạn đã phản hồi! 😊"
ASK_COMMENT = (
    "Cảm ơn bạn đã cho biết. Bạn có thể nhắn ngắn gọn điều gì chưa ổn để cán bộ cải thiện câu trả lời "
    "(không bắt buộc), hoặc gõ «bỏ qua»."
)
BUTTON_SKIP = "Bỏ qua"
COMMENT_SAVED = "Cảm ơn bạn! Góp ý của bạn đã được ghi nhận."
COMMENT_SKIPPED = "Dạ vâng. Bạn cần hỏi gì thêm cứ nhắn cho mình nhé."

# --- small talk -------------------------------------------------------------------------------------
GREETING = (
    "Xin chào bạn! Mình là Trợ lý số của {ward}. Bạn cần hỏi gì cứ nhắn cho mình, hoặc chọn «Xem các chủ đề» bên dưới."
)
THANKS = "Dạ, không có gì ạ! Bạn cần hỏi thêm gì cứ nhắn cho mình nhé. 😊"
GOODBYE = "Tạm biệt bạn, chúc bạn một ngày tốt lành!"
WHO_AM_I = (
    "Mình là **Trợ lý số**, trợ lý tự động của {ward}. Mình giải đáp các câu hỏi thường gặp về thủ tục "
    "hành chính, dịch vụ công và gửi thông báo của phường/xã cho người đã đăng ký. "
    "Mình là chương trình máy tính nên có thể chưa biết hết; khi cần, bạn hãy liên hệ cán bộ phường/xã."
)
HOW_ARE_YOU = "Mình vẫn ổn, cảm ơn bạn đã hỏi thăm! Mình có thể giúp gì cho bạn ạ?"
ACKNOWLEDGE = "Dạ vâng ạ. Bạn cần hỏi gì thêm cứ nhắn cho mình nhé."

# --- input problems ---------------------------------------------------------------------------------
EMPTY = "Tin nhắn của bạn đang trống. Bạn vui lòng gõ câu hỏi nhé."
TOO_LONG = (
    "Tin nhắn dài quá ({length} ký tự) nên mình chưa đọc được. "
    "Bạn vui lòng rút gọn, chỉ giữ lại câu hỏi chính (dưới {limit} ký tự) nhé."
)
NO_WORDS = "Mình chỉ hiểu được câu hỏi viết bằng chữ. Bạn vui lòng gõ câu hỏi, ví dụ: «Cách cài đặt VNeID?»"
JUNK = "Tin nhắn có nhiều ký tự lạ nên mình không đọc được. Bạn vui lòng gõ lại câu hỏi bằng chữ nhé."
ONLY_TEXT = "Hiện mình chỉ đọc được tin nhắn dạng chữ. Bạn vui lòng gõ câu hỏi nhé."
INVALID_BUTTON = "Nút này không còn hiệu lực. Bạn vui lòng gõ /menu để xem lại các chủ đề, hoặc gõ câu hỏi của bạn."
CHOOSE_NUMBER = "Bạn vui lòng chọn một số từ 1 đến {count}."
NUMBER_WITHOUT_CHOICES = (
    "Hiện không có lựa chọn nào đang chờ. Bạn gõ /menu để xem các chủ đề, hoặc gõ câu hỏi của bạn nhé."
)
FLOOD = (
    "Bạn đang gửi tin nhắn hơi nhanh nên mình xin tạm dừng trả lời một chút. "
    "Bạn vui lòng đợi khoảng một phút rồi hỏi tiếp nhé."
)
ERROR = "Xin lỗi, mình đang gặp trục trặc nên chưa trả lời được. Bạn vui lòng thử lại sau ít phút."

# --- privacy (/xoadulieu) ---------------------------------------------------------------------------
DELETE_EXPLAIN = (
    "Bạn muốn xóa dữ liệu mà Trợ lý số đang lưu về bạn?\n\n"
    "Những thông tin sẽ bị xóa:\n"
    "- tên hiển thị và mã người dùng của bạn trên ứng dụng nhắn tin\n"
    "- các câu hỏi bạn đã gửi, đánh giá và góp ý của bạn\n"
    "- đăng ký nhận thông báo (nếu có)\n\n"
    "Sau khi xóa sẽ không khôi phục được."
)
BUTTON_DELETE_CONFIRM = "🗑 Đồng ý xóa"
BUTTON_DELETE_CANCEL = "Hủy"
DELETED = (
    "Đã xóa toàn bộ dữ liệu Trợ lý số lưu về bạn. Nếu bạn nhắn tin tiếp, mình sẽ bắt đầu lại như với người dùng mới."
)
DELETE_CANCELLED = "Đã hủy. Dữ liệu của bạn vẫn được giữ nguyên."
DELETE_EXPIRED = "Yêu cầu xóa này đã hết hạn hoặc không phải của bạn. Nếu muốn xóa dữ liệu, bạn vui lòng gõ /xoadulieu."

# --- subscriptions ----------------------------------------------------------------------------------
SUBSCRIBED = (
    "Bạn đã đăng ký nhận thông báo của {ward}. Khi có thông báo mới, mình sẽ gửi cho bạn. "
    "Gõ /huydangky nếu muốn ngừng nhận."
)
ALREADY_SUBSCRIBED = "Bạn đã đăng ký nhận thông báo từ trước rồi. Gõ /huydangky nếu muốn ngừng nhận."
UNSUBSCRIBED = "Bạn đã ngừng nhận thông báo. Gõ /dangky nếu muốn nhận lại."
NOT_SUBSCRIBED = "Bạn chưa đăng ký nhận thông báo. Gõ /dangky nếu muốn nhận."

# --- staff ------------------------------------------------------------------------------------------
STAFF_ONLY = "Xin lỗi, lệnh này chỉ dành cho cán bộ quản trị."
RELOAD_OK = "Đã nạp lại cơ sở tri thức: {count} mục."
RELOAD_FAILED = (
    "Không nạp lại được vì cơ sở tri thức có lỗi:\n{problems}\n\nCơ sở tri thức cũ vẫn đang hoạt động bình thường."
)
RELOAD_MORE = "- … và {count} lỗi khác"
ALERT_STORAGE = (
    "⚠️ Trợ lý số không ghi được vào cơ sở dữ liệu ({reason}). Bot vẫn trả lời người dân nhưng chưa lưu được "
    "câu hỏi. Anh/chị kiểm tra giúp dung lượng ổ đĩa hoặc máy chủ cơ sở dữ liệu."
)
ALERT_COMPONENT = "⚠️ Trợ lý số gặp sự cố ở phần «{component}»: {reason}"

# --- the command menu shown by Telegram ------------------------------------------------------------
COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("start", "Bắt đầu trò chuyện với Trợ lý số"),
    ("menu", "Xem các chủ đề hỏi đáp"),
    ("help", "Hướng dẫn sử dụng"),
    ("dangky", "Đăng ký nhận thông báo của phường/xã"),
    ("huydangky", "Hủy đăng ký nhận thông báo"),
    ("xoadulieu", "Xóa dữ liệu của tôi mà Trợ lý số lưu"),
)
STAFF_COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("thongbao", "Gửi thông báo đến người đã đăng ký"),
    ("lichthongbao", "Xem và hủy thông báo đã hẹn giờ"),
    ("thongke", "Thống kê sử dụng 7 ngày qua"),
    ("reload", "Nạp lại cơ sở tri thức"),
)

# --- terminal chat ----------------------------------------------------------------------------------
TERMINAL_WELCOME = (
    "Trò chuyện thử với Trợ lý số ngay trong cửa sổ dòng lệnh. "
    "Gõ câu hỏi rồi nhấn Enter; gõ số để chọn nút; gõ /quit (hoặc Ctrl-D) để thoát."
)
TERMINAL_BYE = "Tạm biệt!"
TERMINAL_BOT = "Trợ lý số"

# --- staff statistics (/thongke) --------------------------------------------------------------------
STATS_HEADER = "📊 **Thống kê {days} ngày qua** (đến {until})"
STATS_BODY = (
    "- Câu hỏi: {questions} (trả lời ngay {answered}, gợi ý {suggested}, chưa trả lời được {declined})\n"
    "- Tỉ lệ trả lời ngay: {rate}\n"
    "- Người đặt câu hỏi: {askers}; người dùng mới: {new_users}\n"
    "- Đánh giá: 👍 {helpful} · 👎 {unhelpful}\n"
    "- Đang nhận thông báo: {subscribers} người"
)
STATS_NO_QUESTIONS = "Chưa có câu hỏi nào trong khoảng thời gian này."
STATS_PER_DAY = "Theo ngày: {days}"
STATS_TOP_ENTRIES = "**Mục được hỏi nhiều nhất:**"
STATS_TOP_ENTRY = "{n}. {question} ({count} lượt)"
STATS_UNANSWERED = "**Câu hỏi chưa trả lời tốt nhiều nhất:**"
STATS_UNANSWERED_ITEM = "{n}. «{text}» ({count} lượt)"
STATS_UNANSWERED_CLOSEST = "   gần nhất với mục: {question}"
STATS_HINT = "Danh sách đầy đủ: chạy `python -m bot report unanswered --since {days}d` trên máy chủ."
STATS_USAGE = "Cách dùng: /thongke (7 ngày qua) hoặc /thongke 30 (số ngày, từ 1 đến {max_days})."

# --- announcements: subscription choices, notices, staff broadcasting (issue 5) --------------------------
SUBSCRIPTION_CHOICES = (
    "**Chủ đề bạn nhận:** {topics}\n**Khu vực:** {area}\n\n"
    "Bạn bấm vào chủ đề để bật/tắt, chọn khu vực (tổ dân phố/thôn) của mình, hoặc gõ /huydangky để ngừng nhận."
)
SUBSCRIPTION_ALL_TOPICS = "tất cả các chủ đề"
SUBSCRIPTION_WHOLE_WARD = "toàn phường/xã"
SUBSCRIPTION_SAVED = "Đã lưu lựa chọn của bạn."
SUBSCRIPTION_NOT_ACTIVE = "Bạn chưa đăng ký nhận thông báo. Gõ /dangky để đăng ký nhé."
BUTTON_AREA_ALL = "Toàn phường/xã"
BUTTON_AREA_PREFIX = "📍 "
BUTTON_TOPIC_ON = "✅ "
BUTTON_TOPIC_OFF = "⬜ "
BUTTON_SUBSCRIPTION_DONE = "Xong"
BUTTON_RESUBSCRIBE = "🔔 Đăng ký lại"
NOTICE_FOOTER = "—\nBạn nhận tin này vì đã đăng ký nhận thông báo. Bấm nút dưới đây nếu không muốn nhận nữa."
BUTTON_UNSUBSCRIBE = "Hủy nhận thông báo"

NOTICE_USAGE = (
    "Cách dùng: gõ /thongbao rồi nội dung thông báo trên cùng một tin nhắn, ví dụ:\n"
    "/thongbao Từ ngày 01/4, bộ phận một cửa nhận hồ sơ cả sáng thứ Bảy."
)
NOTICE_TOO_LONG = "Nội dung thông báo dài {length} ký tự, vượt giới hạn {limit}. Anh/chị vui lòng rút gọn lại."
NOTICE_PREVIEW_HEAD = "👀 **Xem trước** — người dân sẽ nhận đúng như tin dưới đây:"
NOTICE_PANEL = (
    "**Chủ đề:** {topic}\n**Khu vực:** {area}\n**Số người sẽ nhận (hiện tại):** {count}\n\n"
    "Chọn chủ đề, khu vực, rồi bấm «Gửi ngay» hoặc «Hẹn giờ». Chưa có gì được gửi đi."
)
NOTICE_ALL_TOPICS = "tất cả người đăng ký"
NOTICE_WHOLE_WARD = "toàn phường/xã"
BUTTON_SEND_NOW = "📤 Gửi ngay"
BUTTON_SCHEDULE = "⏰ Hẹn giờ"
BUTTON_NOTICE_CANCEL = "Hủy"
BUTTON_CONFIRM_SEND = "✅ Xác nhận gửi"
BUTTON_CONFIRM_SCHEDULE = "✅ Xác nhận hẹn giờ"
BUTTON_BACK_TO_PANEL = "« Quay lại"
NOTICE_CONFIRM_NOW = "Gửi thông báo này ngay tới **{count}** người ({topic}, {area})? Bấm «Xác nhận gửi» để gửi."
NOTICE_ASK_TIME = (
    "Anh/chị gõ ngày giờ muốn gửi (giờ Việt Nam), dạng **ngày/tháng/năm giờ:phút**, ví dụ: {example}"
)
NOTICE_BAD_TIME = "Chưa đọc được ngày giờ này. Anh/chị gõ lại theo dạng ngày/tháng/năm giờ:phút, ví dụ: {example}"
NOTICE_PAST_TIME = "Thời điểm này đã qua. Anh/chị chọn một thời điểm trong tương lai nhé."
NOTICE_CONFIRM_LATER = (
    "Hẹn gửi thông báo này lúc **{when}** tới những người đăng ký ({topic}, {area})? Bấm «Xác nhận hẹn giờ»."
)
NOTICE_EXPIRED = "Bản nháp thông báo đã hết hạn hoặc đã được xử lý. Anh/chị gõ lại /thongbao kèm nội dung nhé."
NOTICE_CANCELLED = "Đã hủy, không có thông báo nào được gửi."
NOTICE_STARTED = "📤 Đang bắt đầu gửi thông báo #{id} tới {count} người…"
NOTICE_SCHEDULED = "⏰ Đã hẹn gửi thông báo #{id} lúc {when}. Gõ /lichthongbao để xem hoặc hủy."
NOTICE_PROGRESS = (
    "📤 Đang gửi thông báo #{id}\n"
    "Đã gửi: {sent}/{total} · Lỗi: {failed} · Chặn bot: {blocked} · Còn lại: {remaining}\n"
    "Ước tính còn: {eta}"
)
NOTICE_ETA_UNKNOWN = "đang tính"
NOTICE_FINAL = (
    "✅ Đã gửi xong thông báo #{id}.\n"
    "Đã gửi: {sent}/{total} · Lỗi: {failed} · Chặn bot: {blocked} · Bỏ qua: {skipped}\n"
    "Thời gian: {duration}"
)
NOTICE_SKIP_REASON = "- Bỏ qua {count} người: {reason}."
NOTICE_SKIP_NO_REASON = "không rõ lý do"
NOTICE_FINAL_CANCELLED = "⛔ Thông báo #{id} đã bị hủy. Đã gửi {sent}/{total} người trước khi hủy."
NOTICE_MISSED = (
    "⚠️ Thông báo hẹn lúc {when} đã **không được gửi** vì lúc đó Trợ lý số không chạy (quá thời gian cho phép "
    "gửi bù). Nội dung:\n\n{text}\n\nNếu vẫn cần, anh/chị gõ /thongbao để gửi lại."
)
SCHEDULE_EMPTY = "Hiện không có thông báo nào đang hẹn giờ hoặc đang gửi."
SCHEDULE_HEAD = "**Thông báo đang hẹn giờ / đang gửi:**"
SCHEDULE_ITEM_SCHEDULED = "#{id} · ⏰ {when} · {topic} · {preview}"
SCHEDULE_ITEM_SENDING = "#{id} · 📤 đang gửi {sent}/{total} · {preview}"
SCHEDULE_PLANNED_HEAD = "**Thông báo định kỳ (tệp _schedule.yaml):**"
SCHEDULE_PLANNED_ITEM = "{id} · {when} · {preview}"
BUTTON_CANCEL_BROADCAST = "Hủy #{id}"
BROADCAST_CANCELLED = "Đã hủy thông báo #{id}."
BROADCAST_NOT_CANCELLABLE = "Thông báo #{id} không còn hủy được (đã gửi xong, đã hủy hoặc không tồn tại)."
STAFF_USAGE = "Cách dùng: /themcanbo <mã Telegram> để thêm, /xoacanbo <mã Telegram> để bỏ, /canbo để xem danh sách."
STAFF_ADDED = "Đã thêm cán bộ {id}. Người này có thể dùng /thongbao và /lichthongbao."
STAFF_ALREADY = "Cán bộ {id} đã có trong danh sách."
STAFF_REMOVED = "Đã bỏ cán bộ {id} khỏi danh sách."
STAFF_NOT_FOUND = (
    "Không có cán bộ {id} trong danh sách (quản trị khai báo trong ADMIN_TELEGRAM_IDS không bỏ được ở đây)."
)
STAFF_LIST = "**Cán bộ được gửi thông báo:**\n{items}"
STAFF_LIST_EMPTY = "(chưa có ai ngoài quản trị khai báo trong cấu hình)"

# --- Zalo OA (issue 6) ------------------------------------------------------------------------------
FOLLOW_GREETING = (
    "Cảm ơn bạn đã quan tâm Zalo OA của {ward}! Mình là **Trợ lý số**, luôn sẵn sàng giải đáp các câu hỏi "
    "thường gặp về thủ tục hành chính và dịch vụ công.\n\n"
    "Bạn cứ gõ câu hỏi bằng lời của mình, hoặc chọn một mục bên dưới. "
    "Gõ /dangky để nhận thông báo mới của phường/xã qua Zalo."
)
BUTTON_FOLLOW_SUBSCRIBE = "🔔 Nhận thông báo (/dangky)"
ZALO_CHOOSE_NUMBER = "Bạn gõ {numbers} để chọn."
ZALO_OR = "hoặc"
ZALO_SKIPPED_OUTSIDE_WINDOW = (
    "Zalo chỉ cho gửi tin miễn phí tới người đã nhắn cho OA trong vòng 48 giờ; người này chưa tương tác gần đây"
)
ZALO_REFRESH_REFUSED = (
    "⚠️ Zalo từ chối làm mới mã truy cập của Zalo OA (mã lỗi {code}: {reason}). Trợ lý số trên Zalo sẽ không "
    "gửi được tin nhắn cho đến khi quản trị viên cấp mã mới (ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN) "
    "và khởi động lại Trợ lý số."
)
